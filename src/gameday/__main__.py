from gameday.cli.main import entry

entry()
