with

source as (

    select * from {{ source('marketplace', 'user_reports') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by report_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by report_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(report_id as {{ dbt.type_string() }}) as report_id,
        cast(reporter_id as {{ dbt.type_string() }}) as reporter_id,
        cast(reported_id as {{ dbt.type_string() }}) as reported_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(reason as {{ dbt.type_string() }}) as report_reason,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
