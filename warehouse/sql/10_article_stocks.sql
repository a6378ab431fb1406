-- One row per article and stock code it mentions, for joins with market data.
SELECT
    article_id,
    story_id,
    published_at,
    published_date,
    category,
    source,
    feed,
    title,
    unnest(stock_codes) AS stock_code
FROM articles
