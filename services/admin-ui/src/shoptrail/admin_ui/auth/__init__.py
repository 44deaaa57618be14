"""Who may use the admin: accounts, password hashes, sessions and CSRF tokens."""
