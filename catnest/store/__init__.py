"""SQL behind one interface: engines, migrations, and one module of queries per feature.

Nothing here knows OneBot; records are plain dataclasses of stored rows.
"""
