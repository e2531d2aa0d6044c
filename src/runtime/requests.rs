//! What one effect asks of the database, and the answer the state gets back: the requests of
//! a logged-in person, run on their connection (its prepared statements) by the runtime's loop
//! in `io`.

use crate::app::{Effect, LoadKind, Reply};
use crate::db::statements::Conn;
use crate::db::{repo, session::Session, thread};
use crate::model::*;

/// A ticket's conversation is read up to this many entries at a time.
const THREAD_PAGE: i64 = 500;

/// The answer to an effect that failed as a whole with `error`.
pub(super) fn failure(effect: Effect, error: DbError) -> Reply {
    match effect {
        Effect::CreateTicket { .. } => Reply::Created { result: Err(error) },
        Effect::Act { ticket, action } => Reply::Acted {
            ticket,
            action,
            result: Err(error),
        },
        Effect::LoadPage { req, .. }
        | Effect::LoadTail { req, .. }
        | Effect::LoadRows { req, .. } => Reply::Failed {
            req: Some(req),
            load: LoadKind::List,
            error,
        },
        Effect::MarkSeen { .. } => Reply::Counts {
            counts: Vec::new(),
            unseen: 0,
        },
        Effect::LoadTicket { req, .. } => Reply::Failed {
            req: Some(req),
            load: LoadKind::Ticket,
            error,
        },
        Effect::LoadThread { req, .. } => Reply::Failed {
            req: Some(req),
            load: LoadKind::Thread,
            error,
        },
        Effect::Post {
            ticket,
            then_status,
            ..
        } => Reply::Posted {
            ticket,
            then_status,
            result: Err(error),
        },
        Effect::FindNumber { number } => Reply::Found {
            number,
            result: Err(error),
        },
        Effect::FindCustomer { query } => Reply::Customers {
            query,
            result: Err(error),
        },
        Effect::LoadAudit { req, .. } | Effect::LoadAuditTail { req, .. } => Reply::Failed {
            req: Some(req),
            load: LoadKind::Audit,
            error,
        },
        _ => Reply::Failed {
            req: None,
            load: LoadKind::Counts,
            error,
        },
    }
}

pub(super) async fn perform(session: &Session, conn: &Conn, effect: Effect) -> Reply {
    let (client, me) = (conn, &session.me);
    match effect {
        Effect::LoadPage {
            req,
            queue,
            search,
            after,
            limit,
        } => match repo::list(client, me, queue, &search, after.as_ref(), limit as i64).await {
            Ok(rows) => Reply::Page {
                req,
                queue,
                rows,
                append: after.is_some(),
                limit,
            },
            Err(error) => Reply::Failed {
                req: Some(req),
                load: LoadKind::List,
                error,
            },
        },
        Effect::LoadTail {
            req,
            queue,
            search,
            before,
            limit,
        } => match repo::list_tail(client, me, queue, &search, before.as_ref(), limit as i64).await
        {
            Ok(rows) => Reply::Tail {
                req,
                queue,
                rows,
                prepend: before.is_some(),
                limit,
            },
            Err(error) => Reply::Failed {
                req: Some(req),
                load: LoadKind::List,
                error,
            },
        },
        Effect::LoadRows { req, queue, ids } => {
            match repo::queue_rows(client, me, queue, &ids).await {
                Ok(rows) => Reply::Rows {
                    req,
                    queue,
                    ids,
                    rows,
                },
                Err(error) => Reply::Failed {
                    req: Some(req),
                    load: LoadKind::List,
                    error,
                },
            }
        }
        Effect::LoadUnseen => match thread::unseen_count(client).await {
            Ok(unseen) => Reply::Counts {
                counts: Vec::new(),
                unseen,
            },
            Err(error) => Reply::Failed {
                req: None,
                load: LoadKind::Counts,
                error,
            },
        },
        Effect::LoadCounts => match repo::counts(client, me).await {
            Ok((counts, unseen)) => Reply::Counts { counts, unseen },
            Err(error) => Reply::Failed {
                req: None,
                load: LoadKind::Counts,
                error,
            },
        },
        Effect::LoadTicket { req, id } => match repo::ticket(client, me, id).await {
            Ok(detail) => Reply::Ticket { req, id, detail },
            Err(error) => Reply::Failed {
                req: Some(req),
                load: LoadKind::Ticket,
                error,
            },
        },
        Effect::LoadThread { req, id } => {
            match thread::page(client, me, id, None, THREAD_PAGE + 1).await {
                Ok(mut entries) => {
                    let more = entries.len() > THREAD_PAGE as usize;
                    entries.truncate(THREAD_PAGE as usize);
                    Reply::Thread {
                        req,
                        id,
                        entries,
                        more,
                    }
                }
                Err(error) => Reply::Failed {
                    req: Some(req),
                    load: LoadKind::Thread,
                    error,
                },
            }
        }
        Effect::MarkSeen { ticket } => {
            // Nothing to show for it; a failure only means the marker stays.
            if let Err(e) = thread::mark_seen(client, ticket).await {
                tracing::debug!("marking {ticket} seen: {e}");
            }
            Reply::Counts {
                counts: Vec::new(),
                unseen: thread::unseen_count(client).await.unwrap_or(0),
            }
        }
        Effect::Post {
            ticket,
            body,
            internal,
            then_status,
        } => {
            let result = match then_status {
                None => thread::post(client, ticket, &body, internal)
                    .await
                    .map(|_| ()),
                Some(s) => match thread::post_with_status(client, ticket, &body, internal, s).await
                {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(DbError::Refused {
                        code: STALE_WRITE.into(),
                        message: format!(
                            "the message is posted, but the status was not changed: the ticket is no longer yours to move to {s}"
                        ),
                    }),
                    Err(e) => Err(e),
                },
            };
            Reply::Posted {
                ticket,
                then_status,
                result,
            }
        }
        Effect::FindNumber { number } => Reply::Found {
            number,
            result: thread::by_number(client, number).await,
        },
        Effect::FindCustomer { query } => {
            let result = repo::find_customers(client, &query).await;
            Reply::Customers { query, result }
        }
        Effect::LoadAudit { req, filter, after } => {
            match repo::audit(client, &filter, after.as_ref(), repo::PAGE).await {
                Ok(rows) => Reply::Audit {
                    req,
                    rows,
                    append: after.is_some(),
                },
                Err(error) => Reply::Failed {
                    req: Some(req),
                    load: LoadKind::Audit,
                    error,
                },
            }
        }
        Effect::LoadAuditTail {
            req,
            filter,
            before,
        } => match repo::audit_tail(client, &filter, before.as_ref(), repo::PAGE).await {
            Ok(rows) => Reply::AuditTail {
                req,
                rows,
                prepend: before.is_some(),
            },
            Err(error) => Reply::Failed {
                req: Some(req),
                load: LoadKind::Audit,
                error,
            },
        },
        Effect::Act { ticket, action } => {
            let result = repo::act(client, me, ticket, &action).await;
            Reply::Acted {
                ticket,
                action,
                result,
            }
        }
        Effect::CreateTicket { ticket } => Reply::Created {
            result: repo::create_ticket(client, &ticket).await,
        },
        // Handled by the loop; never routed here.
        other @ (Effect::Login { .. }
        | Effect::SaveDraft { .. }
        | Effect::ChangePassword { .. }
        | Effect::ClearDraft
        | Effect::SaveReplyDraft { .. }
        | Effect::ClearReplyDraft { .. }
        | Effect::LoggedOut
        | Effect::Quit) => failure(other, DbError::Unreachable("not a database request".into())),
    }
}
