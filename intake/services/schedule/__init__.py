"""The schedule's rules: hours (templates, breaks, exceptions), booking and
its conflicts, recurring series, finding time, the waitlist and the board.

Import the modules: `from intake.services.schedule import booking`."""
