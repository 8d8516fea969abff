create table t1 (c text default '\');
create table t1 (c text default E'\\');
create table t1 (c text default '\A\');
create table t1 (c text default e'\\A\\');