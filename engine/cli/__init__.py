"""The engine's command-line sub-commands (db, deploy, versions, audit, users, test). May import
every engine subpackage; nothing imports it but the ferrule command (web.cli)."""
