{{ config(materialized="view") }}
with

source as (

    select * from {{ source('ingest', 'quarantine') }}

),

renamed as (

    select
        table_name,
        source_file,
        source_row,
        reason as quarantine_reason,
        -- The first rule broken, for counting; the full list stays in quarantine_reason.
        trim(split_part(split_part(reason, ';', 1), ':', 1)) as primary_reason,
        record_json,
        cast(quarantined_at as {{ dbt.type_timestamp() }}) as quarantined_at,
        run_id
    from source

)

select * from renamed
