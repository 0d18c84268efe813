with

source as (

    select * from {{ source('marketplace', 'livestreams') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by stream_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by stream_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(stream_id as {{ dbt.type_string() }}) as stream_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
