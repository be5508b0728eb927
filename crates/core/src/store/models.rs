//! The `models` table: every model a library has used, its card, its parent
//! (the model it was retrained from) and which one is active.
//!
//! The store keeps a card as JSON and knows nothing of what it holds: the
//! card type is the caller's (`crate::ml::model::ModelCard`), so the store
//! does not depend on the networks.

use super::{Library, Result, now};
use rusqlite::params;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A registered model with its card of type `C`.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRecord<C> {
    pub id: i64,
    pub name: String,
    pub path: PathBuf,
    pub parent: Option<i64>,
    pub active: bool,
    pub card: C,
}

impl Library {
    /// Registers a model (by name, saved at `path` without extension) and
    /// returns its id; the card is refreshed.
    pub fn register_model(
        &mut self,
        name: &str,
        path: &Path,
        card: &impl Serialize,
        parent: Option<i64>,
    ) -> Result<i64> {
        let card = serde_json::to_string(card).expect("cards serialise");
        let path = path.to_string_lossy().into_owned();
        let name = name.to_string();
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
    pub fn models<C: DeserializeOwned>(&self) -> Result<Vec<ModelRecord<C>>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, path, parent, active, card FROM models ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                let card: String = r.get(5)?;
                Ok(ModelRecord {
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
    pub fn active_model<C: DeserializeOwned>(&self) -> Result<Option<ModelRecord<C>>> {
        Ok(self.models()?.into_iter().find(|m| m.active))
    }
}
