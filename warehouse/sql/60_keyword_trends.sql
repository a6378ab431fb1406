-- Articles per day and keyword (articles.keywords exploded): what the news is about, over time.
SELECT published_date AS date, keyword, count(DISTINCT article_id) AS articles
FROM (SELECT article_id, published_date, unnest(keywords) AS keyword FROM articles)
GROUP BY ALL
