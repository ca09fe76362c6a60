//! The registry of every linked tool: a perfect-hash index over the link-time slice.

use std::fmt;
use std::sync::OnceLock;

use linkme::distributed_slice;
use schemars::Schema;

use crate::ToolDescriptor;
use crate::index::PerfectIndex;

/// Every tool defined with `#[tool]` in any crate linked into the program.
///
/// The name is deliberately long: linkme section names are global, and two
/// slices called `TOOLS` in one binary would collide.
#[distributed_slice]
pub static RUSTCHAIN_TOOL_DESCRIPTORS: [ToolDescriptor];

/// Two linked tools share a name. Both definitions are named so the author
/// can rename one; the registry never lets one silently replace the other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "two tools are named `{name}`: one defined in {first}, the other in {second}; rename one of them with #[tool(name = \"...\")]"
)]
pub struct DuplicateTool {
    /// The shared name.
    pub name: &'static str,
    /// Where the first definition is.
    pub first: crate::SourceLocation,
    /// Where the second definition is.
    pub second: crate::SourceLocation,
}

/// An index of tools by name, built once; lookups allocate nothing.
///
/// Most programs use [`Registry::global`], built over every linked tool on first use.
pub struct Registry {
    /// Sorted by name, so iteration is deterministic.
    tools: Box<[&'static ToolDescriptor]>,
    index: PerfectIndex<'static>,
    input_schemas: Box<[OnceLock<Schema>]>,
    output_schemas: Box<[OnceLock<Schema>]>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("tools", &self.tools.len())
            .finish()
    }
}

static GLOBAL: OnceLock<Result<Registry, Box<DuplicateTool>>> = OnceLock::new();

impl Registry {
    /// The registry of every tool linked into this program, built on first use.
    ///
    /// # Panics
    /// If two linked tools share a name (the linker normally refuses such a
    /// program first); use [`Registry::try_global`] to handle it instead.
    pub fn global() -> &'static Registry {
        match Self::try_global() {
            Ok(registry) => registry,
            Err(duplicate) => panic!("{duplicate}"),
        }
    }

    /// The registry of every linked tool, or the first pair of tools sharing a name.
    pub fn try_global() -> Result<&'static Registry, &'static DuplicateTool> {
        GLOBAL
            .get_or_init(|| Registry::build(RUSTCHAIN_TOOL_DESCRIPTORS.iter()))
            .as_ref()
            .map_err(|duplicate| &**duplicate)
    }

    /// Builds a registry over `descriptors`, refusing two tools with one name.
    pub fn build(
        descriptors: impl IntoIterator<Item = &'static ToolDescriptor>,
    ) -> Result<Registry, Box<DuplicateTool>> {
        let mut tools: Vec<&'static ToolDescriptor> = descriptors.into_iter().collect();
        tools.sort_by(|a, b| a.name.cmp(b.name).then(a.source.file.cmp(b.source.file)));
        if let Some(pair) = tools.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(Box::new(DuplicateTool {
                name: pair[0].name,
                first: pair[0].source,
                second: pair[1].source,
            }));
        }
        let names: Vec<&'static str> = tools.iter().map(|tool| tool.name).collect();
        let index =
            PerfectIndex::build(&names).expect("names were checked for duplicates just above");
        Ok(Registry {
            input_schemas: tools.iter().map(|_| OnceLock::new()).collect(),
            output_schemas: tools.iter().map(|_| OnceLock::new()).collect(),
            tools: tools.into_boxed_slice(),
            index,
        })
    }

    /// The tool called `name`, if one is linked. Allocates nothing.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Tool<'_>> {
        self.index.get(name).map(|position| Tool {
            registry: self,
            position,
        })
    }

    /// Every tool, ordered by name.
    pub fn tools(&self) -> impl ExactSizeIterator<Item = Tool<'_>> + '_ {
        (0..self.tools.len()).map(|position| Tool {
            registry: self,
            position,
        })
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are no tools at all.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

/// One tool of a [`Registry`]: its descriptor, and its schemas built once and cached.
#[derive(Clone, Copy)]
pub struct Tool<'r> {
    registry: &'r Registry,
    position: usize,
}

impl<'r> Tool<'r> {
    /// The tool's static descriptor.
    pub fn descriptor(&self) -> &'static ToolDescriptor {
        self.registry.tools[self.position]
    }

    /// The tool's position in the registry's name order (0 to `len() - 1`).
    pub fn index(&self) -> usize {
        self.position
    }

    /// The tool's name.
    pub fn name(&self) -> &'static str {
        self.descriptor().name
    }

    /// The input schema (JSON Schema 2020-12), built on first use.
    pub fn input_schema(&self) -> &'r Schema {
        let descriptor = self.descriptor();
        self.registry.input_schemas[self.position]
            .get_or_init(|| (descriptor.input_schema)(descriptor.params))
    }

    /// The output schema, built on first use.
    pub fn output_schema(&self) -> &'r Schema {
        self.registry.output_schemas[self.position].get_or_init(self.descriptor().output_schema)
    }
}

impl fmt::Debug for Tool<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tool").field(&self.name()).finish()
    }
}
