"""Live push to browsers: badge counts and feed entries over WebSockets."""
