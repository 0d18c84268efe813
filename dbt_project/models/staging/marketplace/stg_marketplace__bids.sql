with

source as (

    select * from {{ source('marketplace', 'bids') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by bid_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by bid_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(bid_id as {{ dbt.type_string() }}) as bid_id,
        cast(stream_id as {{ dbt.type_string() }}) as stream_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(bidder_id as {{ dbt.type_string() }}) as bidder_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(amount_usd as decimal(12, 2)) as amount_usd,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
