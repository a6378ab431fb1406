-- Quality flags and null rates per feed and day: where the archive is messy.
SELECT
    published_date AS date,
    source,
    feed,
    count(*) AS articles,
    avg(missing_date::INT) AS missing_date_rate,
    avg(blank_title::INT) AS blank_title_rate,
    avg(empty_body::INT) AS empty_body_rate,
    avg(date_out_of_range::INT) AS date_out_of_range_rate,
    -- at query time, not at load: a date ahead of the clock today is an ordinary date tomorrow
    avg((published_at > now() + INTERVAL 1 DAY)::INT) AS dated_in_future_rate,
    avg(front_matter_recovered::INT) AS recovered_front_matter_rate,
    avg((author IS NULL)::INT) AS null_author_rate,
    avg((head_image_url IS NULL)::INT) AS null_head_image_rate
FROM articles
GROUP BY ALL
