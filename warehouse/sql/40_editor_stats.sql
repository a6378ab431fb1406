-- Articles per responsible editor (Sina's 责任编辑 line), with their span of activity.
SELECT
    editor,
    editor_code,
    count(*) AS articles,
    min(published_date) AS first_date,
    max(published_date) AS last_date,
    round(avg(char_count), 1) AS avg_chars
FROM articles
WHERE editor IS NOT NULL
GROUP BY ALL
