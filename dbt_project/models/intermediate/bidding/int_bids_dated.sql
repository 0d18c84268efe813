{{
    config(
        materialized='incremental',
        incremental_strategy='replace',
        replace_key='bid_id',
        replace_range='activity_date'
    )
}}
-- Every bid with the seller of its show and the two days that date it: when the bid became
-- knowable (activity_date) and when its show (and so its seller) was known too
-- (attributed_date; null while the show is unknown). Incremental: the bids staged since the
-- last run, and the stored bids whose show was staged since then for the first time (found
-- among the bids without a show) or with a new seller or start (found on its show's id),
-- re-dated from their stored row. A bid's row is replaced from its day on (`replace`), so the
-- delete reads the recent days only. A bid's day can only move earlier unless a re-sent copy
-- changes its guarded columns, which fails the build until a full refresh (staging models).
with

bids as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__bids') }}
    {%- if is_incremental() %}
    where ingested_at > {{ ingested_through() }}
    {%- endif %}

),

livestreams as {{ inlined() }} (

    select * from {{ ref('stg_marketplace__livestreams') }}

),

dated_bids as (

    select
        bids.bid_id,
        bids.bidder_id,
        bids.stream_id,
        bids.listing_id,
        livestreams.seller_id,
        {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }} as activity_date,
        case
            when livestreams.stream_id is not null then greatest(
                {{ visible_date('bids.occurred_at', 'bids.first_loaded_at') }},
                {{ visible_date('livestreams.started_at', 'livestreams.first_loaded_at') }}
            )
        end as attributed_date
    from bids
    left join livestreams
        on livestreams.stream_id = bids.stream_id

),

{% if is_incremental() -%}
restaged_streams as (

    select * from livestreams where ingested_at > {{ ingested_through() }}

),

redated_bids as (

    -- A stored bid changes only when its show becomes known or changes seller or start (a
    -- re-sent show with the same guarded columns changes nothing here): the two parts of
    -- `stored` below hold exactly those bids.
    select
        stored.bid_id,
        stored.bidder_id,
        stored.stream_id,
        stored.listing_id,
        restaged_streams.seller_id,
        stored.activity_date,
        greatest(
            stored.activity_date,
            {{ visible_date('restaged_streams.started_at', 'restaged_streams.first_loaded_at') }}
        ) as attributed_date
    from (
        -- Bids still waiting for their show: few, and in few row groups (DuckDB skips the
        -- others by their null counts instead of reading 10 million show ids).
        select * from {{ this }} where attributed_date is null
        union all
        -- Every other bid of a show re-sent with a new seller or start: rare.
        select *
        from ({{ rows_with_keys(this, 'stream_id', 'select stream_id from restaged_streams where is_changed_by_resend') }}) as changed
        where changed.attributed_date is not null
    ) as stored
    inner join restaged_streams
        on restaged_streams.stream_id = stored.stream_id
    where not exists (select 1 from bids where bids.bid_id = stored.bid_id)

),

{% endif -%}
all_dated as (

    select * from dated_bids
    {%- if is_incremental() %}
    union all
    select * from redated_bids
    {%- endif %}

),

final as (

    select
        *,
        {{ staged_through([ref('stg_marketplace__bids'), ref('stg_marketplace__livestreams')]) }} as _ingested_through
    from all_dated

)

{{ replace_rows('final', none, 'bid_id', 'activity_date') }}
