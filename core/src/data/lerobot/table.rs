//! Parquet tables the way LeRobot writes them (pyarrow through Hugging Face `datasets` and
//! pandas): typed column readers that accept the encodings Python tools produce, and a
//! writer for the column types a LeRobot dataset uses.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeListArray, Float32Array, Float64Array, Int64Array,
    ListArray, RecordBatch, StringArray, StructArray,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::data::DataError;

/// A Parquet file read into memory.
pub struct Table {
    path: PathBuf,
    batches: Vec<RecordBatch>,
    rows: usize,
}

impl Table {
    /// Reads every row group of the file at `path`.
    pub fn read(path: &Path) -> Result<Table, DataError> {
        if !path.is_file() {
            return Err(DataError::MissingFile(path.display().to_string()));
        }
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let bad = |e: &dyn std::fmt::Display| {
            DataError::corrupt(path, format!("not a readable Parquet file: {e}"))
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| bad(&e))?
            .build()
            .map_err(|e| bad(&e))?;
        let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(Table {
            path: path.to_path_buf(),
            batches,
            rows,
        })
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the table has a column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.batches
            .first()
            .is_some_and(|b| b.schema().column_with_name(name).is_some())
    }

    /// Names of the columns holding strings, in schema order.
    pub fn string_columns(&self) -> Vec<String> {
        self.batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .filter(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8))
                    .map(|f| f.name().clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn columns(&self, name: &str) -> Result<Vec<&ArrayRef>, DataError> {
        self.batches
            .iter()
            .map(|b| {
                b.column_by_name(name).ok_or_else(|| {
                    DataError::corrupt(&self.path, format!("has no column {name:?}"))
                })
            })
            .collect()
    }

    fn wrong_type(&self, name: &str, found: &DataType, wanted: &str) -> DataError {
        DataError::corrupt(
            &self.path,
            format!("column {name:?} is {found}, expected {wanted}"),
        )
    }

    /// An integer column.
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>, DataError> {
        let mut out = Vec::with_capacity(self.rows);
        for c in self.columns(name)? {
            match c.data_type() {
                DataType::Int64 => out.extend(c.as_primitive::<Int64Type>().values()),
                DataType::Int32 => out.extend(
                    c.as_primitive::<Int32Type>()
                        .values()
                        .iter()
                        .map(|v| *v as i64),
                ),
                other => return Err(self.wrong_type(name, other, "an integer")),
            }
        }
        Ok(out)
    }

    /// A floating-point column.
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>, DataError> {
        let mut out = Vec::with_capacity(self.rows);
        for c in self.columns(name)? {
            match c.data_type() {
                DataType::Float64 => out.extend(c.as_primitive::<Float64Type>().values()),
                DataType::Float32 => out.extend(
                    c.as_primitive::<Float32Type>()
                        .values()
                        .iter()
                        .map(|v| *v as f64),
                ),
                other => return Err(self.wrong_type(name, other, "a float")),
            }
        }
        Ok(out)
    }

    /// A vector column (fixed-size or variable list of floats), flattened; every row must have
    /// `dim` values.
    pub fn vectors(&self, name: &str, dim: usize) -> Result<Vec<f32>, DataError> {
        let mut out = Vec::with_capacity(self.rows * dim);
        for c in self.columns(name)? {
            let (values, lens): (ArrayRef, Vec<usize>) = match c.data_type() {
                DataType::FixedSizeList(_, n) => {
                    let l = c.as_fixed_size_list();
                    (l.values().clone(), vec![*n as usize; l.len()])
                }
                DataType::List(_) => {
                    let l = c.as_list::<i32>();
                    let lens = l.offsets().windows(2).map(|w| (w[1] - w[0]) as usize);
                    (l.values().clone(), lens.collect())
                }
                other => return Err(self.wrong_type(name, other, "a list of floats")),
            };
            if let Some(bad) = lens.iter().find(|n| **n != dim) {
                return Err(DataError::corrupt(
                    &self.path,
                    format!("column {name:?} has rows of {bad} values, info.json says {dim}"),
                ));
            }
            match values.data_type() {
                DataType::Float32 => out.extend(values.as_primitive::<Float32Type>().values()),
                DataType::Float64 => out.extend(
                    values
                        .as_primitive::<Float64Type>()
                        .values()
                        .iter()
                        .map(|v| *v as f32),
                ),
                other => return Err(self.wrong_type(name, other, "a list of floats")),
            }
        }
        Ok(out)
    }

    /// A string column.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, DataError> {
        let mut out = Vec::with_capacity(self.rows);
        for c in self.columns(name)? {
            match c.data_type() {
                DataType::Utf8 => out.extend(
                    c.as_string::<i32>()
                        .iter()
                        .map(|s| s.unwrap_or_default().to_string()),
                ),
                DataType::LargeUtf8 => out.extend(
                    c.as_string::<i64>()
                        .iter()
                        .map(|s| s.unwrap_or_default().to_string()),
                ),
                other => return Err(self.wrong_type(name, other, "strings")),
            }
        }
        Ok(out)
    }

    /// An image column (`struct<bytes: binary, path: string>`, as Hugging Face `Image`
    /// features are stored): the encoded bytes of each row.
    pub fn image_bytes(&self, name: &str) -> Result<Vec<Vec<u8>>, DataError> {
        let mut out = Vec::with_capacity(self.rows);
        for c in self.columns(name)? {
            let DataType::Struct(_) = c.data_type() else {
                return Err(self.wrong_type(name, c.data_type(), "struct<bytes, path>"));
            };
            let bytes = c.as_struct().column_by_name("bytes").ok_or_else(|| {
                DataError::corrupt(&self.path, format!("image column {name:?} has no bytes"))
            })?;
            match bytes.data_type() {
                DataType::Binary => out.extend(
                    bytes
                        .as_binary::<i32>()
                        .iter()
                        .map(|b| b.unwrap_or_default().to_vec()),
                ),
                DataType::LargeBinary => out.extend(
                    bytes
                        .as_binary::<i64>()
                        .iter()
                        .map(|b| b.unwrap_or_default().to_vec()),
                ),
                other => return Err(self.wrong_type(name, other, "binary image bytes")),
            }
        }
        Ok(out)
    }
}

/// A column to write.
pub enum Column {
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// `fixed_size_list<float32>[dim]`, flattened rows.
    FixedF32 {
        dim: usize,
        values: Vec<f32>,
    },
    Strings(Vec<String>),
    /// `list<string>` per row.
    StringLists(Vec<Vec<String>>),
    /// `list<float64>` per row.
    F64Lists(Vec<Vec<f64>>),
    /// `list<int64>` per row.
    I64Lists(Vec<Vec<i64>>),
    /// Hugging Face `Image`: `struct<bytes: binary, path: string>`.
    Images(Vec<(Vec<u8>, String)>),
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

fn offsets<T>(rows: &[Vec<T>]) -> OffsetBuffer<i32> {
    OffsetBuffer::from_lengths(rows.iter().map(Vec::len))
}

impl Column {
    fn to_arrow(&self) -> ArrayRef {
        match self {
            Column::I64(v) => Arc::new(Int64Array::from(v.clone())),
            Column::F32(v) => Arc::new(Float32Array::from(v.clone())),
            Column::F64(v) => Arc::new(Float64Array::from(v.clone())),
            Column::FixedF32 { dim, values } => Arc::new(FixedSizeListArray::new(
                Arc::new(Field::new("element", DataType::Float32, true)),
                *dim as i32,
                Arc::new(Float32Array::from(values.clone())),
                None,
            )),
            Column::Strings(v) => Arc::new(StringArray::from(v.clone())),
            Column::StringLists(rows) => Arc::new(ListArray::new(
                Arc::new(Field::new("item", DataType::Utf8, true)),
                offsets(rows),
                Arc::new(StringArray::from(rows.concat())),
                None,
            )),
            Column::F64Lists(rows) => Arc::new(ListArray::new(
                Arc::new(Field::new("item", DataType::Float64, true)),
                offsets(rows),
                Arc::new(Float64Array::from(rows.concat())),
                None,
            )),
            Column::I64Lists(rows) => Arc::new(ListArray::new(
                Arc::new(Field::new("item", DataType::Int64, true)),
                offsets(rows),
                Arc::new(Int64Array::from(rows.concat())),
                None,
            )),
            Column::Images(rows) => {
                let bytes: Vec<&[u8]> = rows.iter().map(|(b, _)| b.as_slice()).collect();
                let paths: Vec<&str> = rows.iter().map(|(_, p)| p.as_str()).collect();
                Arc::new(StructArray::new(
                    image_fields(),
                    vec![
                        Arc::new(BinaryArray::from(bytes)),
                        Arc::new(StringArray::from(paths)),
                    ],
                    None,
                ))
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::I64(v) => v.len(),
            Column::F32(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::FixedF32 { dim, values } => values.len() / (*dim).max(1),
            Column::Strings(v) => v.len(),
            Column::StringLists(v) => v.len(),
            Column::F64Lists(v) => v.len(),
            Column::I64Lists(v) => v.len(),
            Column::Images(v) => v.len(),
        }
    }
}

fn image_fields() -> Fields {
    Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ])
}

/// The type `list<string>` etc. of a column, for callers building schemas.
pub fn list_type(item: DataType) -> DataType {
    list_of(item)
}

/// Writes `columns` (all of one length) to a Snappy-compressed Parquet file, with
/// `metadata` as the schema's key-value metadata (e.g. pandas' index description).
pub fn write(
    path: &Path,
    columns: Vec<(String, Column)>,
    metadata: HashMap<String, String>,
) -> Result<(), DataError> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    if let Some((name, _)) = columns.iter().find(|(_, c)| c.len() != rows) {
        return Err(DataError::Shape(format!(
            "column {name} has a different length than the others"
        )));
    }
    let arrays: Vec<ArrayRef> = columns.iter().map(|(_, c)| c.to_arrow()).collect();
    let fields: Vec<Field> = columns
        .iter()
        .zip(&arrays)
        .map(|((name, _), a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| DataError::io(path, format!("cannot assemble the table: {e}")))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let file = File::create(path).map_err(|e| DataError::io(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| DataError::io(path, e))?;
    writer.write(&batch).map_err(|e| DataError::io(path, e))?;
    writer.close().map_err(|e| DataError::io(path, e))?;
    Ok(())
}
