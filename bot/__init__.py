"""Application core of Work Permit Assistant: settings, i18n, domain services and wiring."""
