-- Articles per day and feed (every copy counts), the stories the feed published first that day (a copy of an earlier article does not), average length, and how many carry images or stock mentions.
SELECT
    published_date AS date,
    category,
    source,
    feed,
    count(*) AS articles,
    count(*) FILTER (WHERE story_first) AS stories,
    round(avg(char_count), 1) AS avg_chars,
    count(*) FILTER (WHERE image_count > 0) AS with_images,
    count(*) FILTER (WHERE len(stock_codes) > 0) AS with_stock_mentions
FROM articles
GROUP BY ALL
