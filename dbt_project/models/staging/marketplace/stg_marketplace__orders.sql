-- The newest version of each order (the contract: latest version wins), and when the id was
-- first loaded, the moment it became knowable. Built on the version history so the two never
-- disagree on renames and casts.
with

versions as (

    select * from {{ ref('stg_marketplace__order_versions') }}

),

latest_version as (

    select
        *,
        min(loaded_at) over (partition by order_id) as first_loaded_at
    from versions
    qualify row_number() over (partition by order_id order by loaded_at desc) = 1

)

select * from latest_version
