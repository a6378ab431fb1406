-- Articles mentioning each stock code, per day.
SELECT published_date AS date, stock_code, count(DISTINCT article_id) AS articles
FROM article_stocks
GROUP BY ALL
