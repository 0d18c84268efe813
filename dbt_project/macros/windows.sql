{#- Point-in-time window helpers for account-day models. -#}

{#- Deltas whose running sum, per account and day, is the number of distinct entities seen in
    the trailing `window_days` days. Each occurrence counts from its day until the entity's next
    occurrence or until the window lapses, whichever comes first, so intervals never overlap and
    a running sum of +1/-1 is exact. `occurrences` must have account_id, entity_id,
    activity_date, one row per distinct (account_id, entity_id, activity_date). -#}
{% macro distinct_in_window_deltas(occurrences, window_days, delta_name) -%}
    select
        account_id,
        activity_date,
        sum(delta) as {{ delta_name }}
    from (
        select
            account_id,
            activity_date,
            1 as delta
        from {{ occurrences }}
        union all
        select
            account_id,
            least(
                coalesce(next_activity_date, {{ add_days('activity_date', window_days) }}),
                {{ add_days('activity_date', window_days) }}
            ) as activity_date,
            -1 as delta
        from (
            select
                account_id,
                activity_date,
                lead(activity_date) over (
                    partition by account_id, entity_id order by activity_date
                ) as next_activity_date
            from {{ occurrences }}
        ) as with_next
    ) as deltas
    group by account_id, activity_date
{%- endmacro %}

{#- Trailing-window sum of a daily measure on the dense account-day grid (ROWS frame: one row
    per account per day, so N-1 preceding rows are exactly the N-1 previous days). -#}
{% macro trailing_sum(measure, window_days) -%}
    sum({{ measure }}) over (
        partition by account_id order by as_of_date
        rows between {{ window_days - 1 }} preceding and current row
    )
{%- endmacro %}

{#- Everything up to and including the day: the opening balance before the grid plus the
    running sum inside it. -#}
{% macro running_total(measure) -%}
    coalesce(opening_{{ measure }}, 0) + sum({{ measure }}) over (
        partition by account_id order by as_of_date
        rows between unbounded preceding and current row
    )
{%- endmacro %}
