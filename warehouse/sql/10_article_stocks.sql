-- One row per article and stock code it mentions, for joins with market data: how it was found and the text as it appears.
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
