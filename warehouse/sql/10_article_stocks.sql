-- One row per article and stock code it mentions, for joins with market data: how it was found (found_by: markup, Sina's stock link or quote markup; code, written after a name, in a cashtag or in a quote link; list, a name of the securities list; name, a name the archive teaches, matched as a word of the text) and the text as it appears.
SELECT
    article_id,
    story_id,
    published_at,
    published_date,
    category,
    source,
    feed,
    title,
    mention.stock_code AS stock_code,
    mention.found_by AS found_by,
    mention.written AS mention_text
FROM (SELECT *, unnest(stock_mentions) AS mention FROM articles)
