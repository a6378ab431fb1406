"""The parser's version, in a module that imports nothing (`newslake --version` reads it without
loading Polars). Bump it when parsed row values change: a lake made by another version is rebuilt."""

PARSER_VERSION = "1.5.0"
