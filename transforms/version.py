"""The parser's version, in a module that imports nothing (`newslake --version` reads it without
loading Polars). Bump it when parsed row values change: a lake made by another version is rebuilt."""

# 1.5.0: stock_names (the pairs an article teaches) and names the archive teaches in stock_mentions.
# 1.6.0: the article files hold year and month (the tree's paths no longer do: pandas reads it).
# 1.7.0: feed names without the decoration of their category string ("— 资讯" is 资讯).
# 1.8.0: datelines, "原标题：" lines, calls to follow or download and disclaimers opening as a note
#        are notices; credits are found past a repeated title and in more forms ("中国基金报记者方丽",
#        "►文 观察者网 陶梦").
PARSER_VERSION = "1.8.0"
