//! The `models` table: every model a library has used, its card, its parent
//! (the model it was retrained from) and which one is active.

use super::{Library, Result, now};
use crate::ml::model::{Model, ModelCard};
use rusqlite::params;
use serde::Serialize;
use std::path::PathBuf;

/// A registered model.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRow {
    pub id: i64,
    pub name: String,
    pub path: PathBuf,
    pub parent: Option<i64>,
    pub active: bool,
    pub card: ModelCard,
}

impl Library {
    /// Registers a model (by name) and returns its id; the card is refreshed.
    pub fn register_model(&mut self, model: &Model, parent: Option<i64>) -> Result<i64> {
        let card = serde_json::to_string(&model.card).expect("cards serialise");
        let path = model.base.to_string_lossy().into_owned();
        let name = model.card.name.clone();
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO models (name, path, parent, card, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET path = excluded.path, card = excluded.card",
                params![name, path, parent, card, now()],
            )?;
            tx.query_row("SELECT id FROM models WHERE name = ?1", [&name], |r| {
                r.get(0)
            })
        })
    }

    /// Makes `model_id` the active model.
    pub fn set_active_model(&mut self, model_id: i64) -> Result<()> {
        self.transaction(|tx| {
            tx.execute("UPDATE models SET active = (id = ?1)", [model_id])?;
            Ok(())
        })
    }

    /// Records the model a model was retrained from.
    pub fn set_model_parent(&mut self, model_id: i64, parent: i64) -> Result<()> {
        self.transaction(|tx| {
            tx.execute(
                "UPDATE models SET parent = ?1 WHERE id = ?2",
                params![parent, model_id],
            )?;
            Ok(())
        })
    }

    /// Registered models, newest first.
    pub fn models(&self) -> Result<Vec<ModelRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, path, parent, active, card FROM models ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                let card: String = r.get(5)?;
                Ok(ModelRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    path: PathBuf::from(r.get::<_, String>(2)?),
                    parent: r.get(3)?,
                    active: r.get(4)?,
                    card: serde_json::from_str(&card).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            5,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?,
                })
            })?;
            rows.collect()
        })
    }

    /// The active model, if any.
    pub fn active_model(&self) -> Result<Option<ModelRow>> {
        Ok(self.models()?.into_iter().find(|m| m.active))
    }
}
