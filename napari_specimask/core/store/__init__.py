"""The project on disk: the SQLite store (schema, migrations, per-thread connections),
the project folder and its transactional saves, the model-version registry, and every
SQL statement the package runs.

May import: the core basics and ``io``. No torch.
"""
