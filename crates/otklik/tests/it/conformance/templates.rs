//! The `AnswerTemplates` trait on both backends: an organisation's templates are its
//! own (another organisation neither sees nor edits them), suggestions put the
//! submission's category first and then the most used, archiving hides a template.

use super::*;
use otklik_domain::answer_template::TemplateBody;

fn template(w: &World, category: Option<CategoryId>, title: &str) -> NewAnswerTemplate {
    NewAnswerTemplate {
        category,
        title: title.to_owned(),
        body: TemplateBody::parse("Обращение № {{ number }} рассмотрено, работы выполнены.")
            .unwrap(),
        by: w.official.user,
    }
}

pub(super) async fn answer_templates_are_the_organisations_own(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let general = s
        .put_answer_template(w.org, None, &template(&w, None, "Общий ответ"), T0)
        .await
        .unwrap();
    let roads = s
        .put_answer_template(
            w.org,
            None,
            &template(&w, Some(w.roads), "Дорожные работы"),
            T0,
        )
        .await
        .unwrap();
    let transport = s
        .put_answer_template(
            w.org,
            None,
            &template(&w, Some(w.transport), "Расписание"),
            T0,
        )
        .await
        .unwrap();
    let titles: Vec<String> = s
        .answer_templates(w.org)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(titles, ["Дорожные работы", "Общий ответ", "Расписание"]);
    assert!(s.answer_templates(w.other_org).await.unwrap().is_empty());
    assert_eq!(
        s.answer_template(w.other_org, roads)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    let stolen = s
        .put_answer_template(w.other_org, Some(roads), &template(&w, None, "Чужой"), T0)
        .await
        .unwrap_err();
    assert_eq!(stolen.code(), "not_found");

    // For a roads submission: the roads template, then the general one; never transport's.
    s.record_template_use(w.org, general).await.unwrap();
    s.record_template_use(w.org, general).await.unwrap();
    let suggested: Vec<i64> = s
        .template_suggestions(w.org, w.roads, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(suggested, [roads, general]);
    assert!(!suggested.contains(&transport));

    // Edited in place; archived, it is gone from lists and suggestions.
    s.put_answer_template(
        w.org,
        Some(roads),
        &template(&w, Some(w.roads), "Ремонт дорог"),
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        s.answer_template(w.org, roads).await.unwrap().title,
        "Ремонт дорог"
    );
    s.archive_answer_template(w.org, roads, T0).await.unwrap();
    assert_eq!(
        s.answer_template(w.org, roads).await.unwrap_err().code(),
        "not_found"
    );
    let after: Vec<i64> = s
        .template_suggestions(w.org, w.roads, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(after, [general]);
    let unknown = s
        .put_answer_template(
            w.org,
            None,
            &template(&w, Some(CategoryId(999_999)), "Нет такой"),
            T0,
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "unknown_category");
}
