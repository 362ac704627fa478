//! MCP over stdin and stdout, the transport local clients launch.

use crate::server::McpServer;

impl McpServer {
    /// Serves on stdin and stdout until the client closes them (logs must go to stderr).
    ///
    /// ```no_run
    /// # async fn run(mcp: apimcp::McpServer) -> std::io::Result<()> {
    /// mcp.serve_stdio().await
    /// # }
    /// ```
    pub async fn serve_stdio(&self) -> std::io::Result<()> {
        crate::mcp::serve_stdio(self.clone()).await
    }
}
