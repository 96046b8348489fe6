//! Column changes shared by the migrations that add columns to existing tables.

use sea_orm_migration::prelude::*;

/// One column per statement: SQLite alters one column at a time.
pub(crate) fn add(table: impl IntoIden, column: &mut ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(&mut *column).to_owned()
}

pub(crate) fn drop(table: impl IntoIden, column: impl IntoIden) -> TableAlterStatement {
    Table::alter().table(table).drop_column(column).to_owned()
}
