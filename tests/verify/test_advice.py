from bot.report import Kind, Reason, Report, Verdict
from bot.verify.advice import headline, next_steps

CALLBACK = {
    "phone": "+12065550142",
    "instructions": "Ask for the security desk.",
    "hours": None,
    "contacts": [],
}


def _report(verdict, vendor=None, reasons=(), callback=None, details=None):
    return Report(
        target="x",
        kind=Kind.MESSAGE,
        verdict=verdict,
        reasons=list(reasons),
        vendor=vendor,
        callback=callback,
        details=details or {},
    )


def test_call_the_registry_number_and_not_the_one_in_the_message():
    report = _report(
        Verdict.SUSPICIOUS,
        reasons=[
            Reason("unregistered_phone_number", "x", data={"raw": "213", "e164": "+12135550199"})
        ],
        callback=CALLBACK,
        details={"imitates": {"vendor_name": "Northwind Software"}},
    )
    steps = next_steps(report)
    assert steps[0].startswith("Call +1 206-555-0142 (from the vendor registry, Northwind")
    assert "Do not call +1 213-555-0199 from the message." in steps
    assert any("Do not reset credentials" in s for s in steps)


def test_unverified_vendor_headline_names_the_vendor():
    report = _report(Verdict.UNVERIFIED, vendor={"name": "Northwind Software", "privileged": True})
    assert "Northwind Software's domain" in headline(report)
    assert headline(_report(Verdict.UNVERIFIED)).startswith("Unverified: deskguard could not link")


def test_verified_privileged_vendor_still_needs_two_approvals():
    report = _report(Verdict.VERIFIED, vendor={"name": "N", "privileged": True}, callback=CALLBACK)
    assert any("two approvals" in s for s in next_steps(report))
