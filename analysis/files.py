"""Files written whole or not at all: a report folder that fills up (or turns read-only)
part-way must not leave a file cut short that reads as a complete one.

Each file is written to a temporary name beside it and renamed over the final name once
it is whole; on failure the temporary file is removed and the error is raised. A reader
sees the old file, the new one, or none."""
import os
from typing import Callable, Union


def write_whole(path: str, write: Callable[[str], None]) -> None:
    """Calls ``write(temporary_path)`` and renames the result to ``path``."""
    temporary = f"{path}.tmp.{os.getpid()}"
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise


def write_text_whole(path: str, content: Union[str, bytes]) -> None:
    """``content`` (text as UTF-8, or bytes) into ``path``, whole or not at all."""
    def write(temporary: str) -> None:
        mode, encoding = ("wb", None) if isinstance(content, bytes) else ("w", "utf-8")
        with open(temporary, mode, encoding=encoding) as f:
            f.write(content)

    write_whole(path, write)
