{{ config(unique_key='order_id') }}
-- The newest version of each order (the contract: latest version wins), and when the id was
-- first loaded, the moment it became knowable. Built on the version history so the two never
-- disagree on renames and casts. Incremental: the versions staged since the last run are
-- merged with the stored row of the same order.
with

new_versions as (

    select * from {{ ref('stg_marketplace__order_versions') }}
    {%- if is_incremental() %}
    where ingested_at > {{ ingested_through(column='ingested_at') }}
    {%- endif %}

),

candidates as (

    -- A stored row and a new version with the same loaded_at: the new one is that version's
    -- current content (stg_marketplace__order_versions re-ranked it).
    select new_versions.*, new_versions.loaded_at as first_loaded_at, 1 as is_new
    from new_versions
    {%- if is_incremental() %}
    union all
    select
        order_id, buyer_id, seller_id, stream_id, listing_id, created_at, amount_usd,
        payment_method_id, shipping_address_hash, order_status, shipped_at, delivered_at, loaded_at,
        ingested_at, source_file, source_row, first_loaded_at, 0 as is_new
    from ({{ rows_with_keys(this, 'order_id', 'select order_id from new_versions') }}) as stored
    {%- endif %}

),

latest_version as (

    select
        order_id, buyer_id, seller_id, stream_id, listing_id, created_at, amount_usd,
        payment_method_id, shipping_address_hash, order_status, shipped_at, delivered_at, loaded_at,
        max(ingested_at) over (partition by order_id) as ingested_at,
        source_file,
        source_row,
        min(first_loaded_at) over (partition by order_id) as first_loaded_at
    from candidates
    qualify row_number() over (partition by order_id order by loaded_at desc, is_new desc) = 1

)

select * from latest_version
