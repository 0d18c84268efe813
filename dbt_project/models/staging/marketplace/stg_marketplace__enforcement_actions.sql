with

source as (

    select * from {{ source('marketplace', 'enforcement_actions') }}

),

latest_version as (

    -- The contract re-sends rows (same id, newer _loaded_at): keep the newest, and remember
    -- when the id was first loaded, the moment it became knowable (point-in-time features).
    select
        *,
        min(_loaded_at) over (partition by action_id) as _first_loaded_at
    from source
    qualify row_number() over (
        partition by action_id
        order by _loaded_at desc, _source_file desc, _source_row desc
    ) = 1

),

renamed as (

    select
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(action as {{ dbt.type_string() }}) as action,
        cast(abuse_type as {{ dbt.type_string() }}) as abuse_type,
        cast(source as {{ dbt.type_string() }}) as action_source,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(_first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at
    from latest_version

)

select * from renamed
