-- One row per story (the copies of one text across feeds, articles.story_id): its first copy's time, feed and title, how many copies it has, in which feeds (source/feed), and when the last appeared.
SELECT
    story_id,
    any_value(published_at) FILTER (WHERE story_first) AS first_published_at,
    any_value(source) FILTER (WHERE story_first) AS first_source,
    any_value(feed) FILTER (WHERE story_first) AS first_feed,
    any_value(title) FILTER (WHERE story_first) AS title,
    count(*) AS copies,
    list_sort(list(DISTINCT concat_ws('/', source, feed))) AS feeds,
    max(published_at) AS last_published_at
FROM articles
GROUP BY story_id
