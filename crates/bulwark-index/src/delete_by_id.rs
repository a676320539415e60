//! The delete that replaces or removes a document by `_id`.
//!
//! tantivy's `IndexWriter::delete_term` queues a scoring `TermWeight` per delete (a 1 KiB table
//! of BM25 factors, computed, and an explanation with its strings) and keeps it until every
//! segment has applied it, at the next commit. Every document written is such a delete (a write
//! replaces any document with its `_id`), so a `_bulk` of 5,000 documents queued 5,000 of them:
//! megabytes held between commits, and the table computed each time for a delete that never
//! scores. This weight holds the term alone and matches the same documents.

use tantivy::query::{ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, IndexWriter, Score, SegmentReader, TantivyError, Term};

use crate::error::{IndexError, Result};

/// Queues the delete of the documents whose `_id` field holds `id`, applied at the next commit
/// to the documents added before it.
pub(crate) fn queue(w: &IndexWriter, id: Term) -> Result<()> {
    w.delete_query(Box::new(DeleteById(id))).map(|_| ()).map_err(IndexError::engine("deleting a document"))
}

/// Matches the documents whose `_id` field holds the term (at most one once deletes apply).
#[derive(Debug, Clone)]
struct DeleteById(Term);

impl Query for DeleteById {
    fn weight(&self, _enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for DeleteById {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inverted = reader.inverted_index(self.0.field())?;
        Ok(match inverted.read_postings(&self.0, IndexRecordOption::Basic)? {
            Some(postings) => Box::new(ConstScorer::new(postings, boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!("document {doc} does not have this _id")));
        }
        Ok(Explanation::new("_id", 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument, doc};

    #[test]
    fn it_deletes_only_the_documents_with_its_id_added_before_it() {
        let mut schema = Schema::builder();
        let id = schema.add_text_field("_id", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut w: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        w.add_document(doc!(id => "a")).unwrap();
        w.add_document(doc!(id => "b")).unwrap();
        w.commit().unwrap();
        // One committed segment and one in the writer: a replace as `Index::apply` does it.
        w.add_document(doc!(id => "c")).unwrap();
        w.delete_query(Box::new(DeleteById(Term::from_field_text(id, "a")))).unwrap();
        w.add_document(doc!(id => "a")).unwrap();
        w.delete_query(Box::new(DeleteById(Term::from_field_text(id, "c")))).unwrap();
        w.delete_query(Box::new(DeleteById(Term::from_field_text(id, "none")))).unwrap();
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let count = |v: &str| {
            searcher
                .search(
                    &tantivy::query::TermQuery::new(Term::from_field_text(id, v), IndexRecordOption::Basic),
                    &tantivy::collector::Count,
                )
                .unwrap()
        };
        assert_eq!((count("a"), count("b"), count("c")), (1, 1, 0));
        assert_eq!(searcher.num_docs(), 2);
    }
}
