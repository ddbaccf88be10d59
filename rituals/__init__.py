"""Scheduled rhythms of a community (meetups, reminders, renewal moments), on APScheduler 3."""
