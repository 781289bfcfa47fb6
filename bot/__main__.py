"""``python -m bot`` runs the deskguard CLI."""

from bot.cli import main

main()
