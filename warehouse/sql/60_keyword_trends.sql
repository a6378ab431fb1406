-- Articles per day and keyword (articles.keywords exploded), and the distinct stories among them: what the news is about, over time.
SELECT published_date AS date, keyword, count(DISTINCT article_id) AS articles, count(DISTINCT story_id) AS stories
FROM (SELECT article_id, story_id, published_date, unnest(keywords) AS keyword FROM articles)
GROUP BY ALL
