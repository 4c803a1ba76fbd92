"""Records store: SQLAlchemy models, repositories, migrations, seed and import."""
