-- Articles mentioning each stock code per day, and the distinct stories among them (copies of one text across feeds count once).
SELECT published_date AS date, stock_code, count(DISTINCT article_id) AS articles, count(DISTINCT story_id) AS stories
FROM article_stocks
GROUP BY ALL
