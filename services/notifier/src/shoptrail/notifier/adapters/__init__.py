"""The notifier's connections to the world: PostgreSQL, SMTP, the job queue, templates."""
