//! The `AnswerTemplates` trait's implementation (`impl_answer_templates!`): an
//! organisation's prepared answers, edited only by its own people, archived rather than
//! deleted, suggested for a submission by its category first and then by use.

use otklik_domain::{CategoryId, OrgId, UserId};
use time::OffsetDateTime;

/// A template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerTemplateRecord {
    pub id: i64,
    pub org: OrgId,
    /// `None`: for any category.
    pub category: Option<CategoryId>,
    pub title: String,
    pub body: String,
    pub uses: u64,
    pub updated_at: OffsetDateTime,
}

/// A template to save (checked by `otklik_domain::answer_template`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswerTemplate {
    pub category: Option<CategoryId>,
    pub title: String,
    pub body: otklik_domain::answer_template::TemplateBody,
    pub by: UserId,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TemplateRow {
    pub id: i64,
    pub org_id: i64,
    pub category_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub uses: i64,
    pub updated_at: i64,
}

impl TemplateRow {
    pub fn record(self) -> crate::StoreResult<AnswerTemplateRecord> {
        Ok(AnswerTemplateRecord {
            id: self.id,
            org: OrgId(self.org_id),
            category: self.category_id.map(CategoryId),
            title: self.title,
            body: self.body,
            uses: u64::try_from(self.uses).unwrap_or(0),
            updated_at: crate::common::from_ts(self.updated_at)?,
        })
    }
}

pub(crate) const TEMPLATE_SELECT: &str =
    "SELECT id, org_id, category_id, title, body, uses, updated_at FROM answer_templates";

macro_rules! impl_answer_templates {
    (store: $store:ty, db: $db:ty, write: $write:ident, read: $read:ident $(,)?) => {
        #[::async_trait::async_trait]
        impl $crate::AnswerTemplates for $store {
            async fn answer_templates(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<Vec<$crate::AnswerTemplateRecord>> {
                ::sqlx::query_as::<$db, $crate::templates_sql::TemplateRow>(&format!(
                    "{} WHERE org_id = $1 AND archived_at IS NULL ORDER BY title, id",
                    $crate::templates_sql::TEMPLATE_SELECT
                ))
                .bind(org.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::templates_sql::TemplateRow::record)
                .collect()
            }

            async fn answer_template(
                &self,
                org: ::otklik_domain::OrgId,
                id: i64,
            ) -> $crate::StoreResult<$crate::AnswerTemplateRecord> {
                ::sqlx::query_as::<$db, $crate::templates_sql::TemplateRow>(&format!(
                    "{} WHERE id = $1 AND org_id = $2 AND archived_at IS NULL",
                    $crate::templates_sql::TEMPLATE_SELECT
                ))
                .bind(id)
                .bind(org.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .record()
            }

            async fn put_answer_template(
                &self,
                org: ::otklik_domain::OrgId,
                id: Option<i64>,
                template: &$crate::NewAnswerTemplate,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<i64> {
                let at = $crate::common::ts(now);
                let category = template.category.map(|c| c.0);
                match id {
                    None => ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO answer_templates (org_id, category_id, title, body, created_by, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(org.0)
                    .bind(category)
                    .bind(&template.title)
                    .bind(template.body.as_str())
                    .bind(template.by.0)
                    .bind(at)
                    .fetch_one(self.$write())
                    .await
                    .map_err(|e| $crate::common::constraint(e, "template_conflict", "unknown_category")),
                    Some(id) => {
                        let changed = ::sqlx::query::<$db>(
                            "UPDATE answer_templates SET category_id = $3, title = $4, body = $5, updated_at = $6 \
                             WHERE id = $1 AND org_id = $2 AND archived_at IS NULL",
                        )
                        .bind(id)
                        .bind(org.0)
                        .bind(category)
                        .bind(&template.title)
                        .bind(template.body.as_str())
                        .bind(at)
                        .execute(self.$write())
                        .await
                        .map_err(|e| $crate::common::constraint(e, "template_conflict", "unknown_category"))?
                        .rows_affected();
                        $crate::documents_sql::not_found_unless(changed == 1)?;
                        Ok(id)
                    }
                }
            }

            async fn archive_answer_template(
                &self,
                org: ::otklik_domain::OrgId,
                id: i64,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let changed = ::sqlx::query::<$db>(
                    "UPDATE answer_templates SET archived_at = $3 \
                     WHERE id = $1 AND org_id = $2 AND archived_at IS NULL",
                )
                .bind(id)
                .bind(org.0)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?
                .rows_affected();
                $crate::documents_sql::not_found_unless(changed == 1)
            }

            async fn template_suggestions(
                &self,
                org: ::otklik_domain::OrgId,
                category: ::otklik_domain::CategoryId,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::AnswerTemplateRecord>> {
                ::sqlx::query_as::<$db, $crate::templates_sql::TemplateRow>(&format!(
                    "{} WHERE org_id = $1 AND archived_at IS NULL \
                       AND (category_id = $2 OR category_id IS NULL) \
                     ORDER BY CASE WHEN category_id IS NULL THEN 1 ELSE 0 END, uses DESC, id \
                     LIMIT $3",
                    $crate::templates_sql::TEMPLATE_SELECT
                ))
                .bind(org.0)
                .bind(category.0)
                .bind(i64::from(limit))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::templates_sql::TemplateRow::record)
                .collect()
            }

            async fn record_template_use(
                &self,
                org: ::otklik_domain::OrgId,
                id: i64,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE answer_templates SET uses = uses + 1 WHERE id = $1 AND org_id = $2",
                )
                .bind(id)
                .bind(org.0)
                .execute(self.$write())
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_answer_templates;
