"""The parser's version, in a module that imports nothing (`newslake --version` reads it without
loading Polars). Bump it when parsed row values change: a lake made by another version is rebuilt."""

# 1.5.0: the article files hold year and month (the tree's paths no longer do: pandas reads it).
PARSER_VERSION = "1.5.0"
