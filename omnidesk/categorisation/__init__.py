"""Auto-categorisation of customers' messages behind a small interface (docs/ticket-forms.md)."""
