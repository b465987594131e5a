"""Path parameters shared by the API and the pages: row ids bounded to what a database integer holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from grader.service.numbers import MAX_ID

# An id past MAX_ID would make SQLite fail the query (a 500); FastAPI refuses it with a 422 naming the
# parameter.
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description=f"a row id, from 1 to {MAX_ID}")]
