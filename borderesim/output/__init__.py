"""What a user sees: tables, JSON, CSV records, figures, the report, animations."""
