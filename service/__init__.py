"""How the processes are configured and started: settings, migrations entry, the local supervisor."""
