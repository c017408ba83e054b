//! `hoist compose top [SERVICE...]`: for each running container of the project, its name
//! and then `hoist top`'s table of its processes (docker compose's layout).

use super::Session;

pub fn top(session: &Session, services: &[String]) -> anyhow::Result<i32> {
    session.check_services(services)?;
    for (rec, _) in session.containers(services, true) {
        println!("{}", rec.name);
        let args = crate::cli::container::TopArgs {
            container: rec.id.clone(),
            ps_args: Vec::new(),
        };
        crate::commands::container::top::top(session.lifecycle.root(), &args)?;
        println!();
    }
    Ok(0)
}
